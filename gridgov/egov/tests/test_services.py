"""The workflow services: each step for the right role, state and scope only, refused otherwise with
nothing changed; materials; the clock and 补正; money once; notifications and the audit trail."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from gridgov.accounts.choices import Role
from gridgov.core.errors import ApplicationError
from gridgov.core.models import AuditEntry
from gridgov.egov import services
from gridgov.egov.models import Application, ApplicationEvent, ApplicationMaterial, Notification, Payment

from . import factories as f

pytestmark = pytest.mark.django_db


def snapshot(app=None):
    state = Application.objects.filter(pk=app.pk).values_list("state", flat=True).first() if app else None
    return (state, ApplicationEvent.objects.count(), AuditEntry.objects.count(), Notification.objects.count(),
            Payment.objects.count(), ApplicationMaterial.objects.count(), Application.objects.count())


def refused(call, status: int, code: str | None = None, app=None):
    """The call raises the expected error and changes nothing."""
    before = snapshot(app)
    with pytest.raises(ApplicationError) as exc:
        with transaction.atomic():
            call()
    assert exc.value.status == status, (exc.value.status, exc.value.code, exc.value.message)
    if code:
        assert exc.value.code == code, (exc.value.code, exc.value.message)
    assert exc.value.message
    assert snapshot(app) == before
    return exc.value


# --- starting an application ---------------------------------------------------------------------------------

def test_grid_admin_and_grid_worker_start_on_behalf(flow):
    app = flow.start()
    assert app.state == "pending" and app.channel == "village" and app.agent == flow.admin
    assert app.number.startswith("ZW") and app.department_code == "MZJ" and app.region_id == flow.person.region_id
    assert app.payee_account == "6217995200012345678"
    assert Application.objects.get(pk=app.pk).payee_account == "6217995200012345678"
    raw = Application.objects.filter(pk=app.pk).values_list("payee_account", flat=True)
    assert "6217995200012345678" not in str(list(raw.query.get_compiler("default").execute_sql(chunked_fetch=False)))
    event = app.events.get()
    assert event.action == "create" and event.actor_role == Role.GRID_ADMIN
    notes = list(Notification.objects.filter(application=app))
    assert {(n.channel, n.recipient_resident_id, n.recipient_user_id) for n in notes} == {
        ("sms", flow.person.pk, None), ("site", None, flow.admin.pk)}
    assert AuditEntry.objects.filter(action="egov.application.create", object_id=str(app.pk)).count() == 1

    other = f.Flow(f.OLD_AGE, person=f.resident(birth=date(1940, 1, 1)))
    by_worker = other.start(by=other.worker, payee_account="")
    assert by_worker.channel == "grid_worker" and by_worker.agent == other.worker


def test_start_refusals_change_nothing(flow):
    person = flow.person
    make = services.application_create
    kwargs = {"item_code": f.TEMP_AID, "applicant_id": person.pk, "answers": f.answers_for(f.TEMP_AID)}
    for role, where in ((Role.TOWN_OPERATOR, f.HUJI), (Role.CITY_OPERATOR, f.COUNTY), (Role.DEPT_STAFF, "MZJ"),
                        (Role.VILLAGE_CADRE, f.HUSHAN)):
        refused(lambda r=role, w=where: make(acting_user=f.user(r, w), **kwargs), 403, "permission_denied")
    refused(lambda: make(acting_user=f.user(Role.AUDITOR), **kwargs), 403)
    # A grid worker of the next grid, a village administrator of the next village: not theirs.
    refused(lambda: make(acting_user=f.user(Role.GRID_WORKER, f.grid(n=2)), **kwargs), 404, "not_found")
    refused(lambda: make(acting_user=f.user(Role.GRID_ADMIN, f.YUANTAI), **kwargs), 404)
    refused(lambda: make(acting_user=flow.admin, **{**kwargs, "item_code": "NOPE"}), 400, "invalid_item")
    error = refused(lambda: make(acting_user=flow.admin, **{**kwargs, "answers": {"reason": "因懒", "x": 1}}), 400,
                    "invalid_answers")
    assert set(error.extra["errors"]) >= {"answers.reason", "answers.x", "answers.family_size", "answers.situation"}
    refused(lambda: make(acting_user=flow.admin, **kwargs, payee_account="12ab"), 400, "invalid_account")
    gone = f.resident(state="deceased")
    refused(lambda: make(acting_user=flow.admin, **{**kwargs, "applicant_id": gone.pk}), 400)
    app = flow.start()
    error = refused(lambda: make(acting_user=flow.admin, **kwargs), 409, "duplicate_application")
    assert error.extra["number"] == app.number


def test_start_is_idempotent_with_a_key(flow):
    app = flow.start(idempotency_key="form-123")
    before = snapshot(app)
    again = flow.start(idempotency_key="form-123")
    assert again.pk == app.pk and again.replayed and snapshot(app) == before
    other = f.Flow(f.HUKOU_PROOF)
    refused(lambda: other.start(idempotency_key="form-123"), 409, "idempotency_conflict")


# --- materials -----------------------------------------------------------------------------------------------

def test_materials_are_checked_against_the_item_and_by_content(flow, materials_root, settings, monkeypatch):
    app = flow.start()
    add = services.application_material_add
    m = add(acting_user=flow.worker, application_id=app.pk, material_code="id_card", upload=f.upload(f.JPEG, "a.pdf"))
    assert m.content_type == "image/jpeg" and m.file.name.endswith(".jpg") and m.original_name == "a.pdf"
    assert (materials_root / m.file.name).exists()
    assert str(materials_root) not in str(settings.MEDIA_ROOT)
    assert m.file.name.startswith(f"{app.pk}/") and "a.pdf" not in m.file.name
    refused(lambda: add(acting_user=flow.admin, application_id=app.pk, material_code="passport",
                        upload=f.upload()), 400, "invalid_material", app)
    refused(lambda: add(acting_user=flow.admin, application_id=app.pk, material_code="hukou",
                        upload=f.upload(b"<html><script>alert(1)</script>", "scan.pdf")), 400, "invalid_file_type", app)
    refused(lambda: add(acting_user=flow.admin, application_id=app.pk, material_code="hukou",
                        upload=f.upload(b"", "empty.pdf")), 400, "invalid_file", app)
    from gridgov.egov.services import applications

    monkeypatch.setattr(applications, "MAX_MATERIAL_BYTES", 20)
    refused(lambda: add(acting_user=flow.admin, application_id=app.pk, material_code="hukou",
                        upload=f.upload(f.PDF)), 400, "file_too_large", app)
    monkeypatch.undo()
    refused(lambda: add(acting_user=flow.town, application_id=app.pk, material_code="hukou",
                        upload=f.upload()), 403, app=app)
    refused(lambda: add(acting_user=f.user(Role.GRID_ADMIN, f.YUANTAI), application_id=app.pk,
                        material_code="hukou", upload=f.upload()), 404, app=app)
    # Acceptance needs every required material: id_card is there, hukou, application and bank are not.
    error = refused(lambda: services.application_accept(acting_user=flow.admin, application_id=app.pk), 400,
                    "missing_materials", app)
    assert "户口簿" in error.message and "居民身份证" not in error.message
    flow.accept()
    refused(lambda: add(acting_user=flow.admin, application_id=app.pk, material_code="hukou", upload=f.upload()),
            409, "wrong_state", app)


# --- every step: role, state, scope --------------------------------------------------------------------------

def test_each_step_only_for_its_role_state_and_scope(flow):
    app = flow.start()
    s = services
    other_admin = f.user(Role.GRID_ADMIN, f.YUANTAI)
    other_town = f.user(Role.TOWN_OPERATOR, f.SHIPAI)
    rsj_head = f.user(Role.DEPT_HEAD, "RSJ")
    # 待受理: only the village's administrator may accept.
    for who, status in ((flow.worker, 403), (flow.town, 403), (flow.head, 403), (other_admin, 404),
                        (f.user(Role.AUDITOR), 403)):
        refused(lambda w=who: s.application_accept(acting_user=w, application_id=app.pk), status, app=app)
    for call in (lambda: s.application_town_pass(acting_user=flow.town, application_id=app.pk),
                 lambda: s.application_verify(acting_user=flow.staff, application_id=app.pk, note="核实情况属实"),
                 lambda: s.application_approve(acting_user=flow.head, application_id=app.pk),
                 lambda: s.application_complete(acting_user=flow.staff, application_id=app.pk),
                 lambda: s.application_return(acting_user=flow.town, application_id=app.pk,
                                              missing_materials=["bank"], reason="银行卡复印件不清晰"),
                 lambda: s.application_resubmit(acting_user=flow.admin, application_id=app.pk)):
        refused(call, 409, "wrong_state", app)
    app = flow.accept()
    assert app.state == "town_review"
    # 镇审核: the town's operator; not another town's, not the department, not the village.
    refused(lambda: s.application_town_pass(acting_user=other_town, application_id=app.pk), 404, app=app)
    for who in (flow.admin, flow.staff, flow.head):
        refused(lambda w=who: s.application_town_pass(acting_user=w, application_id=app.pk), 403, app=app)
    refused(lambda: s.application_verify(acting_user=flow.staff, application_id=app.pk, note="核实情况属实"), 409,
            "wrong_state", app)
    refused(lambda: s.application_accept(acting_user=flow.admin, application_id=app.pk), 409, "wrong_state", app)
    app = flow.to_department()
    assert app.state == "dept_verify"
    # 部门核实: the responsible department (民政局), not another bureau, not the town.
    refused(lambda: s.application_verify(acting_user=f.user(Role.DEPT_STAFF, "RSJ"), application_id=app.pk,
                                         note="核实情况属实"), 404, app=app)
    refused(lambda: s.application_verify(acting_user=flow.town, application_id=app.pk, note="核实情况属实"), 403,
            app=app)
    refused(lambda: s.application_verify(acting_user=flow.staff, application_id=app.pk, note=""), 400,
            "reason_required", app)
    refused(lambda: s.application_return(acting_user=flow.town, application_id=app.pk, missing_materials=["bank"],
                                         reason="银行卡复印件不清晰"), 403, app=app)
    refused(lambda: s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=300000), 409,
            "wrong_state", app)
    app = flow.verify()
    assert app.state == "dept_decide"
    # 审批: the head only; staff may not decide; another bureau's head cannot even see it.
    refused(lambda: s.application_approve(acting_user=flow.staff, application_id=app.pk, amount_fen=300000), 403,
            app=app)
    refused(lambda: s.application_refuse(acting_user=flow.staff, application_id=app.pk, reason="家庭收入超标准"),
            403, app=app)
    refused(lambda: s.application_approve(acting_user=rsj_head, application_id=app.pk, amount_fen=300000), 404,
            app=app)
    refused(lambda: s.application_refuse(acting_user=flow.head, application_id=app.pk, reason="不"), 400,
            "reason_required", app)
    refused(lambda: s.application_withdraw(acting_user=flow.admin, application_id=app.pk, reason="申请人不再需要"),
            409, "wrong_state", app)
    app = flow.approve(amount_fen=300000)
    assert app.state == "approved" and app.decision == "approved"
    refused(lambda: s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=300000), 409,
            "wrong_state", app)
    refused(lambda: s.application_refuse(acting_user=flow.head, application_id=app.pk, reason="家庭收入超标准"),
            409, "wrong_state", app)
    assert [e.action for e in app.events.order_by("at", "id")] == [
        "create", "material", "material", "material", "material", "accept", "town_pass", "verify", "approve"]
    audit_actions = set(AuditEntry.objects.filter(object_type="egov.application", object_id=str(app.pk))
                        .values_list("action", flat=True))
    assert {"egov.application.accept", "egov.application.town_pass", "egov.application.verify",
            "egov.application.approve"} <= audit_actions
    # Applicant and agent hear of every step but material uploads.
    assert Notification.objects.filter(application=app).count() == 2 * 5


def test_item_without_town_review_goes_straight_to_the_department(db):
    flow = f.Flow(f.HUKOU_PROOF, department="GAJ")
    flow.start()
    app = flow.accept()
    assert app.state == "dept_verify"
    # A 派出所 handles its bureau's items inside its town; another town's station sees nothing.
    station = f.user(Role.DEPT_STAFF, f"GAJ-{f.HUJI}")
    far_station = f.user(Role.DEPT_STAFF, f"GAJ-{f.SHIPAI}")
    refused(lambda: services.application_verify(acting_user=far_station, application_id=app.pk,
                                                note="查询户籍信息属实"), 404, app=app)
    app = services.application_verify(acting_user=station, application_id=app.pk, note="查询户籍信息属实")
    assert app.state == "dept_decide"


def test_timeline_rows_are_append_only(flow):
    app = flow.start()
    event = app.events.get()
    event.note = "改写"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


# --- the clock and 补正 ----------------------------------------------------------------------------------------

def test_return_pauses_the_clock_across_national_day(db):
    flow = f.Flow(f.TEMP_AID)
    flow.start(when=f.at(date(2026, 9, 18)))
    app = flow.accept(f.at(date(2026, 9, 21)))  # Monday
    # 10 working days from 21 September: the 25th (中秋) and 1-7 October are holidays, 10 October a make-up day.
    assert app.accepted_on == date(2026, 9, 21) and app.due_on == date(2026, 10, 12)
    app = services.application_return(acting_user=flow.town, application_id=app.pk, missing_materials=["hukou"],
                                      reason="户口簿复印件缺户主页", at=f.at(date(2026, 9, 29)))
    assert app.state == "returned" and app.returned_from == "town_review" and app.returned_on == date(2026, 9, 29)
    refused(lambda: services.application_resubmit(acting_user=flow.admin, application_id=app.pk,
                                                  at=f.at(date(2026, 10, 9))), 400, "missing_materials", app)
    refused(lambda: services.application_town_pass(acting_user=flow.town, application_id=app.pk), 409,
            "wrong_state", app)
    services.application_material_add(acting_user=flow.admin, application_id=app.pk, material_code="hukou",
                                      upload=f.upload(f.PNG, "hukou.png"), at=f.at(date(2026, 10, 9), 9))
    app = services.application_resubmit(acting_user=flow.admin, application_id=app.pk, at=f.at(date(2026, 10, 9)))
    # Waiting counted 30 September, 8 and 9 October: three working days; the due date moves by three.
    assert app.state == "town_review" and app.paused_days == 3 and app.due_on == date(2026, 10, 15)
    flow.app = app
    flow.to_department(f.at(date(2026, 10, 10)))
    flow.verify(f.at(date(2026, 10, 12)))
    flow.approve(f.at(date(2026, 10, 13)), amount_fen=300000)
    payment = flow.app.payments.get()
    services.payment_record(acting_user=flow.staff, payment_id=payment.pk, reference="BK2026101400001",
                            paid_on=date(2026, 10, 14), at=f.at(date(2026, 10, 14)))
    app = services.application_complete(acting_user=flow.staff, application_id=app.pk, at=f.at(date(2026, 10, 14)))
    # After the original due date (12 October), within the moved one: on time.
    assert app.completed_on == date(2026, 10, 14) and app.on_time is True


def test_a_second_return_adds_to_the_pause(db):
    flow = f.Flow(f.TEMP_AID)
    flow.start(when=f.at(date(2026, 9, 18)))
    flow.accept(f.at(date(2026, 9, 21)))
    flow.to_department(f.at(date(2026, 9, 22)))
    app = services.application_return(acting_user=flow.staff, application_id=flow.app.pk, missing_materials=["bank"],
                                      reason="银行卡号与户名不符", at=f.at(date(2026, 9, 24)))
    assert app.returned_from == "dept_verify"
    services.application_material_add(acting_user=flow.worker, application_id=app.pk, material_code="bank",
                                      upload=f.upload(), at=f.at(date(2026, 9, 28), 9))
    app = services.application_resubmit(acting_user=flow.worker, application_id=app.pk, at=f.at(date(2026, 9, 28)))
    # (24 September, 28 September]: the 25th is 中秋, then a weekend: one working day.
    assert app.state == "dept_verify" and app.paused_days == 1 and app.due_on == date(2026, 10, 13)


def test_steps_cannot_be_dated_out_of_order(flow):
    flow.start(when=f.at(date(2026, 9, 21)))
    attach = f.attach_required
    attach(flow.admin, flow.app, f.at(date(2026, 9, 21), 11))
    refused(lambda: services.application_accept(acting_user=flow.admin, application_id=flow.app.pk,
                                                at=f.at(date(2026, 9, 20))), 400, "time_out_of_order", flow.app)


# --- money ---------------------------------------------------------------------------------------------------

def test_money_is_recorded_on_approval_only_and_never_twice(db):
    flow = f.Flow(f.TEMP_AID)
    flow.run_to("dept_decide")
    app = flow.app
    assert not Payment.objects.filter(application=app).exists()
    s = services
    refused(lambda: s.application_approve(acting_user=flow.head, application_id=app.pk), 400, "amount_required", app)
    refused(lambda: s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=0), 400,
            "invalid_amount", app)
    app = s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=300000,
                                idempotency_key="approve-1")
    payment = Payment.objects.get(application=app)
    assert (payment.period, payment.amount_fen, payment.status) == ("once", 300000, "scheduled")
    assert app.amount_fen == 300000 and app.payee_account.endswith("5678")
    before = snapshot(app)
    again = s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=300000,
                                  idempotency_key="approve-1")
    assert again.replayed and snapshot(app) == before
    refused(lambda: s.application_approve(acting_user=flow.head, application_id=app.pk, amount_fen=300000,
                                          idempotency_key="approve-2"), 409, "wrong_state", app)
    refused(lambda: s.application_complete(acting_user=flow.staff, application_id=app.pk), 409, "not_paid", app)
    refused(lambda: s.payment_record(acting_user=flow.staff, payment_id=payment.pk, reference=""), 400,
            "reference_required", app)
    refused(lambda: s.payment_record(acting_user=flow.town, payment_id=payment.pk, reference="BK20260001"), 403,
            app=app)
    refused(lambda: s.payment_record(acting_user=f.user(Role.DEPT_HEAD, "RSJ"), payment_id=payment.pk,
                                     reference="BK20260001"), 404, app=app)
    paid = s.payment_record(acting_user=flow.staff, payment_id=payment.pk, reference="BK20260001",
                            idempotency_key="pay-1")
    assert paid.status == "paid" and paid.paid_on is not None and paid.paid_by == flow.staff
    before = snapshot(app)
    assert s.payment_record(acting_user=flow.staff, payment_id=payment.pk, reference="BK20260001",
                            idempotency_key="pay-1").replayed
    assert s.payment_record(acting_user=flow.head, payment_id=payment.pk, reference="BK20260001").replayed
    assert snapshot(app) == before
    error = refused(lambda: s.payment_record(acting_user=flow.head, payment_id=payment.pk, reference="BK20269999"),
                    409, "already_paid", app)
    assert "不能重复发放" in error.message
    # The database itself refuses a second payment for the same application and period.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(application=app, region_id=app.region_id, period="once", amount_fen=300000,
                               due_on=date(2026, 12, 1))
    app = s.application_complete(acting_user=flow.staff, application_id=app.pk)
    assert app.state == "completed" and Payment.objects.filter(application=app).count() == 1


def test_items_without_money_take_no_amount(db):
    flow = f.Flow(f.HUKOU_PROOF, department="GAJ")
    flow.start()
    flow.accept()
    flow.verify()
    refused(lambda: services.application_approve(acting_user=flow.head, application_id=flow.app.pk,
                                                 amount_fen=100), 400, "no_money", flow.app)
    app = flow.approve()
    assert app.amount_fen is None and not app.payments.exists()
    assert services.application_complete(acting_user=flow.staff, application_id=app.pk).state == "completed"


def test_a_monthly_benefit_gets_a_schedule(db):
    person = f.resident(gender="female")
    flow = f.Flow(f.REWARD, person=person)
    flow.run_to("dept_decide", f.at(date(2026, 3, 2)))
    app = flow.approve(f.at(date(2026, 3, 20)))
    payments = list(app.payments.order_by("due_on"))
    assert app.amount_fen == 20000  # the item's 200 yuan a month
    assert len(payments) == 12 and {p.amount_fen for p in payments} == {20000}
    assert (payments[0].period, payments[0].due_on, payments[-1].period) == ("2026-04", date(2026, 4, 10), "2027-03")
    # 办结 does not wait for the schedule; months are paid one by one, each once.
    services.application_complete(acting_user=flow.staff, application_id=app.pk)
    services.payment_record(acting_user=flow.staff, payment_id=payments[0].pk, reference="YJDB-2026-04-0001",
                            paid_on=date(2026, 4, 10))
    refused(lambda: services.payment_record(acting_user=flow.staff, payment_id=payments[1].pk,
                                            reference="YJDB-2026-04-0001"), 409, "duplicate_reference", app)


def test_refusal_needs_a_reason_and_tells_the_applicant(db):
    flow = f.Flow(f.TEMP_AID)
    flow.run_to("dept_decide")
    app = services.application_refuse(acting_user=flow.head, application_id=flow.app.pk,
                                      reason="家庭人均收入高于本市临时救助标准")
    assert app.state == "refused" and app.decision == "refused"
    assert not app.payments.exists()
    sms = Notification.objects.filter(application=app, channel="sms").order_by("-id").first()
    assert "家庭人均收入高于本市临时救助标准" in sms.text
    app = services.application_complete(acting_user=flow.staff, application_id=app.pk)
    assert app.state == "completed" and app.decision == "refused"


def test_withdraw_frees_the_item_for_a_new_application(flow):
    app = flow.start()
    refused(lambda: services.application_withdraw(acting_user=flow.admin, application_id=app.pk, reason="不"), 400,
            "reason_required", app)
    services.application_withdraw(acting_user=flow.admin, application_id=app.pk, reason="申请人已外出务工")
    assert flow.start().pk != app.pk


def test_a_visit_need_is_forwarded_to_the_application(flow):
    from django.utils import timezone

    from gridgov.visits.models import Need, Visit

    visit = Visit.objects.create(region_id=flow.person.region_id, resident=flow.person, worker=flow.worker,
                                 visited_at=timezone.now(), visit_date=timezone.localdate(), location_check="no_gps")
    need = Need.objects.create(visit=visit, region_id=flow.person.region_id, kind="service", text="申请临时救助")
    app = flow.start(by=flow.worker, need_id=need.pk)
    need.refresh_from_db()
    assert need.status == "forwarded" and need.forwarded_ref == app.number
