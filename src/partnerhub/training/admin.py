"""Back office for training. Saves go through the services; person certifications are history:
read-only, changed only by the revoke action (reason and date asked on an intermediate page)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.template import engines
from django.utils import timezone

from partnerhub.core.admin import ScopedAdmin
from partnerhub.core.errors import ServiceError
from partnerhub.training import services
from partnerhub.training.models import (
    Certification,
    Competency,
    Course,
    CourseCompletion,
    Person,
    PersonCertification,
)
from partnerhub.training.selectors import current_q, status_on


def _is_program_admin(user) -> bool:
    return bool(user.is_active and (user.is_superuser or user.staff_role == "program_admin"))


def _service_errors(exc: Exception) -> ValidationError:
    if isinstance(exc, ServiceError):
        return ValidationError({exc.field: exc.message} if exc.field else exc.message)
    return exc


class ReadOnlyHistory:
    """History rows: viewable (``training.view_<model>``), never changed or deleted here."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(f"training.view_{self.opts.model_name}", obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceForm(forms.ModelForm):
    """A model form that asks the service's validation before the admin saves."""

    def service_data(self) -> dict:
        raise NotImplementedError

    def service_validate(self, data: dict) -> None:
        pass

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.service_validate(self.service_data())
            except (ValidationError, ServiceError) as exc:
                exc = _service_errors(exc)
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.error_dict.items():
                        self.add_error(name if name in self.fields else None, errors)
                else:
                    self.add_error(None, exc)
        return cleaned


class ServiceAdmin(ScopedAdmin):
    """Saves through ``create``/``update`` services; many-to-many fields are the service's."""

    create = update = None
    instance_kw = ""

    def save_model(self, request, obj, form, change):
        data = form.service_data()
        if change:
            saved = type(self).update(**{self.instance_kw: obj, "data": data})
        else:
            saved = type(self).create(data=data)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- catalogue


class CourseForm(ServiceForm):
    class Meta:
        model = Course
        fields = ["key", "name", "description"]

    def service_data(self):
        return {f: self.cleaned_data.get(f) for f in self.Meta.fields}


@admin.register(Course)
class CourseAdmin(ServiceAdmin):
    form = CourseForm
    create, update, instance_kw = services.course_create, services.course_update, "course"
    list_display = ["key", "name", "updated_at"]
    search_fields = ["key", "name"]


class CertificationForm(ServiceForm):
    class Meta:
        model = Certification
        fields = [
            "key",
            "name",
            "required_courses",
            "exam_course",
            "exam_pass_score",
            "validity_months",
            "fee_minor",
            "currency",
        ]

    def service_data(self):
        data = {f: self.cleaned_data.get(f) for f in self.Meta.fields}
        data["required_courses"] = [c.key for c in data["required_courses"] or []]
        data["currency"] = data["currency"] or ""
        data["fee_minor"] = data["fee_minor"] if data["fee_minor"] is not None else 0
        return data

    def service_validate(self, data):
        services.certification_validate(data=data, certification=self.instance)


@admin.register(Certification)
class CertificationAdmin(ServiceAdmin):
    form = CertificationForm
    create, update = services.certification_create, services.certification_update
    instance_kw = "certification"
    list_display = ["key", "name", "exam_pass_score", "validity_months", "fee_minor", "currency"]
    list_filter = ["validity_months", "currency"]
    search_fields = ["key", "name"]
    filter_horizontal = ["required_courses"]
    autocomplete_fields = ["exam_course"]


class CompetencyForm(ServiceForm):
    class Meta:
        model = Competency
        fields = ["key", "name", "certifications", "min_people"]

    def service_data(self):
        data = {f: self.cleaned_data.get(f) for f in self.Meta.fields}
        data["certifications"] = [c.key for c in data["certifications"] or []]
        return data

    def service_validate(self, data):
        services.competency_validate(data=data, competency=self.instance)


@admin.register(Competency)
class CompetencyAdmin(ServiceAdmin):
    form = CompetencyForm
    create, update = services.competency_create, services.competency_update
    instance_kw = "competency"
    list_display = ["key", "name", "min_people"]
    list_filter = ["certifications"]
    search_fields = ["key", "name"]
    filter_horizontal = ["certifications"]


# --- people


@admin.register(Person)
class PersonAdmin(ScopedAdmin):
    partner_field = "partner"
    list_display = ["email", "full_name", "job_role", "partner", "user"]
    list_filter = ["job_role"]
    search_fields = ["email", "full_name", "partner__display_name"]
    raw_id_fields = ["partner", "user"]

    def get_readonly_fields(self, request, obj=None):
        return ["partner", "email"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data.get(f) for f in ("full_name", "job_role", "user")}
            services.person_update(person=obj, data=data)
            return
        person, _ = services.person_upsert(
            partner=obj.partner, email=obj.email, full_name=obj.full_name, job_role=obj.job_role
        )
        if obj.user_id and person.user_id != obj.user_id:
            person = services.person_update(person=person, data={"user": obj.user})
        obj.pk = person.pk


class CompletionForm(forms.ModelForm):
    class Meta:
        model = CourseCompletion
        fields = ["person", "course", "completed_on", "score", "external_id"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("completed_on"):
            errors = services.check_completion(
                completed_on=cleaned["completed_on"],
                score=cleaned.get("score"),
                external_id=cleaned.get("external_id") or "",
            )
            for name, message in errors.items():
                self.add_error(name, message)
        return cleaned


@admin.register(CourseCompletion)
class CourseCompletionAdmin(ReadOnlyHistory, ScopedAdmin):
    """Completions come from the LMS import; a manual one is recorded (and awards) here."""

    partner_field = "person__partner"
    form = CompletionForm
    list_display = ["person", "course", "completed_on", "score", "external_id"]
    list_filter = ["course", "completed_on"]
    search_fields = ["person__email", "person__full_name", "course__key", "external_id"]
    raw_id_fields = ["person"]
    date_hierarchy = "completed_on"

    def save_model(self, request, obj, form, change):
        result = services.course_completion_record(
            person=obj.person,
            course=obj.course,
            completed_on=obj.completed_on,
            score=obj.score,
            external_id=obj.external_id,
        )
        obj.pk = result.completion.pk
        for pc in result.awarded:
            self.message_user(request, f"Awarded {pc.certification} (earned {pc.earned_on}).")


# --- person certifications


class StatusFilter(admin.SimpleListFilter):
    title = "status today"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("current", "Current"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "current":
            return queryset.filter(current_q(today))
        if self.value() == "expired":
            return queryset.filter(expires_on__lte=today).exclude(revoked_on__lte=today)
        if self.value() == "revoked":
            return queryset.filter(Q(revoked_on__lte=today))
        return queryset


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, max_length=2000)
    on = forms.DateField(
        label="No longer valid from", initial=timezone.localdate, help_text="YYYY-MM-DD"
    )


REVOKE_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}
<form method="post">{% csrf_token %}
<p>Revoke these certifications (they stop counting from the date given):</p>
<ul>{% for pc in queryset %}<li>{{ pc }} — earned {{ pc.earned_on }}</li>{% endfor %}</ul>
{{ form.as_p }}
{% for pc in queryset %}
<input type="hidden" name="{{ checkbox }}" value="{{ pc.pk }}">{% endfor %}
<input type="hidden" name="action" value="revoke">
<input type="hidden" name="apply" value="1">
<input type="submit" value="Revoke">
</form>
{% endblock %}"""


@admin.register(PersonCertification)
class PersonCertificationAdmin(ReadOnlyHistory, ScopedAdmin):
    partner_field = "partner"
    list_display = [
        "person",
        "certification",
        "partner",
        "earned_on",
        "expires_on",
        "revoked_on",
        "status",
    ]
    list_filter = [StatusFilter, "certification", "earned_on", "expires_on"]
    search_fields = ["person__email", "person__full_name", "partner__display_name"]
    readonly_fields = [
        "person",
        "certification",
        "partner",
        "earned_on",
        "expires_on",
        "revoked_on",
        "revoked_reason",
        "exam_score",
    ]
    list_select_related = ["person", "certification", "partner"]
    date_hierarchy = "earned_on"
    actions = ["revoke"]

    @admin.display(description="status today")
    def status(self, obj):
        return status_on(obj, timezone.localdate())

    def has_add_permission(self, request):
        return False

    def has_revoke_permission(self, request):
        return _is_program_admin(request.user)

    @admin.action(description="Revoke selected certifications…", permissions=["revoke"])
    def revoke(self, request, queryset):
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for pc in queryset:
                try:
                    services.certification_revoke(
                        person_certification=pc,
                        reason=form.cleaned_data["reason"],
                        on=form.cleaned_data["on"],
                    )
                    done += 1
                except ServiceError as exc:
                    self.message_user(request, f"{pc}: {exc.message}", messages.ERROR)
            if done:
                self.message_user(request, f"Revoked {done} certification(s).")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke certifications",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "checkbox": ACTION_CHECKBOX_NAME,
        }
        return HttpResponse(engines["django"].from_string(REVOKE_PAGE).render(context, request))
