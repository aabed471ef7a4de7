"""Training: courses, certifications, the partner people who earn them, competencies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from partnerhub.core.models import TimeStampedModel


class Course(TimeStampedModel):
    """A course in the vendor's learning system."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class Certification(TimeStampedModel):
    """A certification: earned by completing courses and/or passing an exam; valid N months."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    required_courses = models.ManyToManyField(Course, blank=True, related_name="certifications")
    exam_course = models.ForeignKey(
        Course,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_for",
        help_text="The LMS course whose completion score is the exam result (set together "
        "with the pass score).",
    )
    exam_pass_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Minimum exam score (0-100); empty: no exam."
    )
    validity_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: never expires."
    )
    fee_minor = models.BigIntegerField(default=0, help_text="Fee in minor units.")
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class Person(TimeStampedModel):
    """A person of a partner organisation who takes training (may or may not log in)."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="people")
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    job_role = models.SlugField(
        max_length=64, blank=True, help_text="e.g. engineer, account-manager, specialist"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )

    class Meta:
        ordering = ["partner_id", "email"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(fields=["partner", "email"], name="unique_person_per_partner")
        ]

    def __str__(self) -> str:
        return self.full_name or self.email


class CourseCompletion(models.Model):
    """A person completed a course (from the LMS export)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="completions")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="completions")
    completed_on = models.DateField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["completed_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "course", "completed_on"], name="unique_course_completion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} completed {self.course} on {self.completed_on}"


class PersonCertification(models.Model):
    """A person holds a certification from ``earned_on`` until it expires or is revoked."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="certifications")
    certification = models.ForeignKey(
        Certification, on_delete=models.PROTECT, related_name="holders"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="person_certifications",
        help_text="The person's organisation (denormalised for set-based metrics).",
    )
    earned_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    revoked_on = models.DateField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    exam_score = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["earned_on", "id"]
        indexes = [
            # Covering index for the certified-people metrics (validity checked in the index).
            models.Index(
                fields=[
                    "partner",
                    "person",
                    "certification",
                    "earned_on",
                    "expires_on",
                    "revoked_on",
                ],
                name="personcert_partner_cert",
            ),
            models.Index(fields=["certification", "earned_on"], name="personcert_cert_earned"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "certification", "earned_on"], name="unique_person_cert_earned"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("earned_on")),
                name="personcert_expires_after_earned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.certification}"


class Competency(TimeStampedModel):
    """A specialisation an organisation holds while N of its people hold given certifications."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    certifications = models.ManyToManyField(
        Certification, related_name="competencies", help_text="Any of these counts."
    )
    min_people = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "competencies"

    def __str__(self) -> str:
        return self.name
