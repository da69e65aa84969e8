from django.urls import path

from yiyang.people import views

app_name = "people"
urlpatterns = [
    path("", views.elder_list, name="elder_list"),
    path("<int:elder_id>/", views.elder_detail, name="elder_detail"),
]
