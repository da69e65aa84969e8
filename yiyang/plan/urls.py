from django.urls import path

from yiyang.plan import views

app_name = "plan"
urlpatterns = [
    path("", views.cockpit, name="cockpit"),
    path("indicators/<str:plan_code>/<int:no>/", views.indicator_detail, name="indicator"),
    path("indicators/<str:plan_code>/<int:no>/rows/", views.indicator_rows_behind, name="indicator_rows"),
    path("indicators/<str:plan_code>/<int:no>/provincial-average/", views.provincial_average, name="provincial_average"),
    path("enter/", views.value_entry, name="value_entry"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:value_id>/", views.approval_decide, name="approval_decide"),
    path("work/<str:kind>/", views.work_list, name="work_list"),
    path("work/<str:kind>/<int:pk>/", views.work_detail, name="work_detail"),
    path("evidence/<int:update_id>/", views.evidence, name="evidence"),
    path("export/<str:table>.xlsx", views.export_xlsx, name="export"),
    path("report/<str:kind>.docx", views.evaluation_report, name="report"),
]
