from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridgov.video.nginx import DEFAULT_MODULE, MediaConfig, prepare, render


class Command(BaseCommand):
    help = "渲染雪亮工程流媒体服务器（nginx + RTMP 模块）的配置：回调指向给定的平台地址"

    def add_arguments(self, parser):
        parser.add_argument("--platform", required=True, help="nginx 访问平台的地址，如 http://127.0.0.1:8000")
        parser.add_argument("--prefix", required=True, help="pid、日志、临时文件和 HLS 切片所在目录")
        parser.add_argument("--rtmp-listen", default="1935")
        parser.add_argument("--http-listen", default="8080")
        parser.add_argument("--module-path", default=DEFAULT_MODULE)
        parser.add_argument("--update-seconds", type=int, default=10, help="播放中向平台复核的间隔（秒）")
        parser.add_argument("--app-upstream", default="", help="同时把 / 反向代理到平台（同源提供页面和 HLS）")
        parser.add_argument("--foreground", action="store_true", help="daemon off（由 systemd 或测试管理进程）")
        parser.add_argument("--print", dest="print_only", action="store_true", help="只打印配置，不写文件")

    def handle(self, *args, **opts):
        cfg = MediaConfig(platform=opts["platform"], prefix=Path(opts["prefix"]), rtmp_listen=opts["rtmp_listen"],
                          http_listen=opts["http_listen"], module_path=opts["module_path"],
                          daemon=not opts["foreground"], update_seconds=opts["update_seconds"],
                          app_upstream=opts["app_upstream"])
        try:
            if opts["print_only"]:
                self.stdout.write(render(cfg))
                return
            path = prepare(cfg)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"已写入 {path}\n启动：nginx -p {path.parent} -c {path} -e {path.parent}/logs/error.log")
