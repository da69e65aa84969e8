from django.urls import path

from yiyang.people import views

app_name = "people"
urlpatterns = [
    path("", views.elder_list, name="elder_list"),
    path("new/", views.elder_register, name="elder_register"),
    path("export/", views.elder_export, name="elder_export"),
    path("transfers/", views.transfer_list, name="transfer_list"),
    path("transfers/<int:transfer_id>/decide/", views.transfer_decide, name="transfer_decide"),
    path("access-log/", views.access_log, name="access_log"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/errors.csv", views.import_errors, name="import_errors"),
    path("reconciliation/", views.reconciliation_list, name="reconciliation_list"),
    path("reconciliation/<int:item_id>/decide/", views.reconciliation_decide_view, name="reconciliation_decide"),
    path("<int:elder_id>/", views.elder_detail, name="elder_detail"),
    path("<int:elder_id>/edit/", views.elder_edit, name="elder_edit"),
    path("<int:elder_id>/status/", views.elder_status, name="elder_status"),
    path("<int:elder_id>/categories/", views.elder_categories, name="elder_categories"),
    path("<int:elder_id>/contacts/", views.elder_contact_add, name="elder_contact_add"),
    path("<int:elder_id>/contacts/<int:contact_id>/", views.elder_contact_update, name="elder_contact_update"),
    path("<int:elder_id>/contacts/<int:contact_id>/remove/", views.elder_contact_remove, name="elder_contact_remove"),
    path("<int:elder_id>/consents/", views.elder_consent, name="elder_consent"),
    path("<int:elder_id>/transfer/", views.elder_transfer, name="elder_transfer"),
]
