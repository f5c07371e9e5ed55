from django.core.management.base import BaseCommand, CommandError

from gridgov.video import conf
from gridgov.video.models import Camera


class Command(BaseCommand):
    help = "打印摄像机（或其转发程序）的推流地址（含推流密钥，仅交给运维人员）"

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--base", default="", help="RTMP 应用地址，默认 VIDEO_RTMP_BASE_URL")

    def handle(self, *args, **opts):
        if not Camera.objects.filter(code=opts["code"]).exists():
            raise CommandError(f"摄像机“{opts['code']}”未登记")
        base = (opts["base"] or conf.rtmp_play_base()).rstrip("/")
        self.stdout.write(f"{base}/{opts['code']}?key={conf.publish_key(opts['code'])}")
