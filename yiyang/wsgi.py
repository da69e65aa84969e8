import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")

# The web server runs several threads per process. A thread coming back from the database waits for
# the interpreter lock until the running thread lets go, by default after up to 5 ms; meanwhile it may
# hold SQLite's write turn, which every writer of every worker then waits for. 1 ms cuts that wait
# (bench/README-homecare.md: the lifecycle's write turn was held 1.65 ms on average, 1.4 ms with it).
sys.setswitchinterval(0.001)

application = get_wsgi_application()
