from django.urls import path

from yiyang.visits import views

app_name = "visits"
urlpatterns = [
    path("", views.visit_home, name="home"),
    path("generate/", views.plan_generate, name="generate"),
    path("coverage/", views.coverage, name="coverage"),
    path("elder/<int:elder_id>/", views.elder_visits, name="elder"),
    path("elder/<int:elder_id>/extra/", views.elder_extra, name="extra"),
    path("visit/<int:visit_id>/order/", views.visit_order, name="order"),
]
