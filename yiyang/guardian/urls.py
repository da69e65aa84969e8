from django.urls import path

from yiyang.guardian import views, views_devices

app_name = "guardian"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/alerts/", views.console_alerts, name="console_alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/action/", views.alert_action, name="alert_action"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<int:alert_id>/emergency-order/", views.alert_emergency_order, name="alert_emergency_order"),
    path("devices/", views_devices.device_list, name="device_list"),
    path("devices/new/", views_devices.device_register, name="device_register"),
    path("devices/<int:device_id>/", views_devices.device_detail, name="device_detail"),
    path("devices/<int:device_id>/rotate-secret/", views_devices.device_rotate, name="device_rotate"),
    path("elders/<int:elder_id>/zones/", views_devices.elder_zones, name="elder_zones"),
    path("elders/<int:elder_id>/zones/new/", views_devices.zone_create, name="zone_create"),
    path("zones/<int:zone_id>/", views_devices.zone_edit, name="zone_edit"),
    path("zones/<int:zone_id>/remove/", views_devices.zone_remove, name="zone_remove"),
    path("visits/<int:visit_id>/follow-up-alert/", views_devices.visit_followup_alert, name="visit_followup_alert"),
]
