"""Issue, revoke and list Open311 client keys: `open311_key issue --name 某应用 --jurisdiction 420881103`."""

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.errors import ApplicationError
from gridgov.open311 import services
from gridgov.open311.models import ApiClient


class Command(BaseCommand):
    help = "管理 Open311 客户端密钥（issue / revoke / list）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="签发新密钥（只显示一次）")
        issue.add_argument("--name", required=True)
        issue.add_argument("--jurisdiction", required=True, help="区划代码：本市、乡镇（街道）或村（社区）")
        revoke = sub.add_parser("revoke", help="吊销密钥")
        revoke.add_argument("--name", required=True)
        sub.add_parser("list", help="列出客户端")

    def handle(self, *args, action, **options):
        try:
            if action == "issue":
                client, raw = services.client_issue(acting_user=None, name=options["name"],
                                                    jurisdiction=options["jurisdiction"])
                self.stdout.write(f"客户端 {client.name}（管辖 {client.jurisdiction_id}）的 api_key（只显示这一次）：")
                self.stdout.write(raw)
            elif action == "revoke":
                client = services.client_revoke(acting_user=None, name=options["name"])
                self.stdout.write(f"已吊销 {client.name}（{client.key_prefix}…）")
            else:
                for client in ApiClient.objects.order_by("name"):
                    state = "有效" if client.is_active else "已吊销"
                    self.stdout.write(f"{client.name}\t{client.jurisdiction_id}\t{client.key_prefix}…\t{state}")
        except ApplicationError as error:
            raise CommandError(error.message) from error
