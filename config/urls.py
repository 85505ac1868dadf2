from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from quizzes.views import embed_script

# Bad requests say what was wrong with them (core.views); 403, 404 and 500 use
# Django's views with templates/403.html, 404.html, 500.html.
handler400 = "core.views.bad_request"

admin.site.site_header = "Quizfunnel"
admin.site.site_title = "Quizfunnel admin"
admin.site.index_title = "Quizzes, leads and tracking"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="quizzes:index", permanent=False)),
    path("embed.js", embed_script, name="embed_script"),
    path("admin/", admin.site.urls),
    path("nested_admin/", include("nested_admin.urls")),
    path("q/", include("quizzes.urls")),
    path("q/", include("leads.urls")),
    path("", include("tracking.urls")),
    path("sales/", include("sales.urls")),
    path("automations/", include("automations.urls")),
    # Segment's HTTP Tracking API, at Segment's own paths (libraries change only the host).
    path("v1/", include("api.segment")),
    path("api/", include("api.urls")),
]

# Uploaded pictures on the embedded default (files in var/media); with S3 they have URLs of
# their own and the app serves none.
if not settings.MEDIA_S3_BUCKET:
    from quizzes.views import media_file

    urlpatterns.append(re_path(r"^media/(?P<path>quiz-images/[\w.-]{1,120})$", media_file))
