from django.urls import path

from yiyang.guardian import views

app_name = "guardian"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/alerts/", views.console_alerts, name="console_alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/action/", views.alert_action, name="alert_action"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<int:alert_id>/emergency-order/", views.alert_emergency_order, name="alert_emergency_order"),
]
