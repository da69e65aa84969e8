from django.urls import path

from yiyang.institutions import views

app_name = "institutions"
urlpatterns = [
    path("", views.institution_list, name="list"),
    path("<int:institution_id>/", views.institution_detail, name="detail"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/<int:inspection_id>/", views.inspection_detail, name="inspection"),
]
