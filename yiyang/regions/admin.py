from django.contrib import admin

from yiyang.regions.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "alias", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "alias"]
    readonly_fields = ["path"]
    raw_id_fields = ["parent"]
