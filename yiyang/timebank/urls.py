from django.urls import path

from yiyang.timebank import views

app_name = "timebank"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("confirm/", views.confirm, name="confirm"),
    path("officer/", views.officer, name="officer"),
]
