from django.urls import path

from yiyang.assessments import views

app_name = "assessments"
urlpatterns = [
    path("", views.assessment_home, name="home"),
    path("elder/<int:elder_id>/", views.elder_assessments, name="elder"),
    path("<int:assessment_id>/", views.assessment_detail, name="detail"),
]
