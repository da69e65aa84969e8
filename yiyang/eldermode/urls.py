from django.urls import path

from yiyang.eldermode import views

app_name = "eldermode"
urlpatterns = [
    path("", views.care_home, name="home"),
    path("order/<slug:item_code>/", views.care_order_when, name="order_when"),
    path("order/<slug:item_code>/confirm/", views.care_order_confirm, name="order_confirm"),
    path("orders/<int:order_id>/", views.care_order_done, name="order_done"),
    path("help/", views.care_help, name="help"),
    path("help/sent/", views.care_help_sent, name="help_sent"),
    path("call/<int:contact_id>/", views.care_call, name="call"),
    path("callback/", views.care_callback, name="callback"),
    path("callbacks/", views.callbacks, name="callbacks"),
]
