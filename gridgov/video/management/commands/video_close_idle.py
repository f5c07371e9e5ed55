from django.core.management.base import BaseCommand

from gridgov.video.services import view_close_idle


class Command(BaseCommand):
    help = "结束无人播放的 HLS 查看和已过期未播放的令牌（建议每分钟运行一次）"

    def add_arguments(self, parser):
        parser.add_argument("--idle-seconds", type=int, default=None)

    def handle(self, *args, **opts):
        closed = view_close_idle(idle_seconds=opts["idle_seconds"])
        self.stdout.write(f"已结束 {closed} 次查看")
