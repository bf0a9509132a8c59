"""Tenant and user administration (`pbl tenants`, `pbl users`), importable by the services.

Every change runs in one transaction with its audit event (event_category 'administration');
quotas, suspension and lockout themselves are enforced by the schema (migrations 0021-0023,
docs/tenants.md), so these functions only add validation, dry runs and the audit trail.
"""

from pbl_db.admin.tenants import (
    QuotaUsage,
    TenantChange,
    TenantInfo,
    create_tenant,
    get_tenant,
    list_tenants,
    recount_usage,
    set_suspended,
    tenant_usage,
    update_tenant,
)
from pbl_db.admin.users import (
    MfaEnrolment,
    UserChange,
    UserInfo,
    create_user,
    disable_mfa,
    enable_mfa,
    get_user,
    list_users,
    lock_user,
    reset_password,
    set_role,
    unlock_user,
)

__all__ = [
    "MfaEnrolment",
    "QuotaUsage",
    "TenantChange",
    "TenantInfo",
    "UserChange",
    "UserInfo",
    "create_tenant",
    "create_user",
    "disable_mfa",
    "enable_mfa",
    "get_tenant",
    "get_user",
    "list_tenants",
    "list_users",
    "lock_user",
    "recount_usage",
    "reset_password",
    "set_role",
    "set_suspended",
    "tenant_usage",
    "unlock_user",
    "update_tenant",
]
