from django.urls import path

from yiyang.homecare import views

app_name = "homecare"
urlpatterns = [
    path("hotline/", views.hotline, name="hotline"),
    path("dispatch/", views.dispatch_board, name="dispatch"),
    path("visits/", views.my_visits, name="my_visits"),
    path("visits/sw.js", views.visits_service_worker, name="visits_sw"),
    path("my/", views.elder_home_page, name="elder_home"),
    path("audit/", views.audit_queue_page, name="audit_queue"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/<slug:action>/", views.order_action, name="order_action"),
]
