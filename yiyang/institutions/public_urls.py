"""Pages anyone may read without logging in (the walker expects their names to start with "public")."""

from django.urls import path

from yiyang.institutions import views

app_name = "public_inspections"
urlpatterns = [
    path("inspections/", views.public_inspection_results, name="list"),
]
