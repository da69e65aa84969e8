from django.urls import path

from yiyang.subsidies import views

app_name = "subsidies"
urlpatterns = [
    path("", views.programme_list, name="programme_list"),
    path("new/", views.programme_form, name="programme_create"),
    path("<int:programme_id>/", views.programme_detail, name="programme_detail"),
    path("<int:programme_id>/edit/", views.programme_form, name="programme_edit"),
    path("<int:programme_id>/status/", views.programme_status, name="programme_status"),
    path("<int:programme_id>/grant/", views.programme_grant, name="programme_grant"),
    path("mine/", views.mine, name="mine"),
    path("elders/<int:elder_id>/", views.elder_vouchers, name="elder_vouchers"),
    path("settlements/", views.settlements, name="settlements"),
    path("settlements/close/", views.settlement_close, name="settlement_close"),
    path("settlements/<int:settlement_id>.xlsx", views.settlement_download, name="settlement_download"),
    path("flags/", views.flags, name="flags"),
]
