"""The answers with which LiteLLM refuses a principal: what `harness.judge` may count as *denied*."""

from __future__ import annotations

from harness.model.refusal import Refusal

# The answers with which LiteLLM refuses a principal (`judge` counts them as *denied* when the body
# has LiteLLM's error shape {"error": {"message", "type", "param", "code"}} and the upstream
# received nothing). Everything else — 5xx, timeouts, odd bodies, other 4xx — stays an error.
# - 401/403, any error type: LiteLLM's auth layer and access checks (key/team/user/org model
#   access denied, invalid or expired key, missing key); 1.82.3 answers model-access denials
#   with 401, 1.108.7 with 403.
# - 404 auth_error: `user_api_key_auth` hands every HTTPException its checks raise to
#   `UserAPIKeyAuthExceptionHandler` (litellm/proxy/auth/auth_exception_handler.py, 1.82.3 and
#   1.108.7), which re-raises it as ProxyException(type=ProxyErrorTypes.auth_error, code=the
#   exception's status). The only 404s those checks raise are "doesn't exist in db" for the
#   key's own team, team alias, access group or organisation (litellm/proxy/auth/auth_checks.py
#   get_team_object, get_access_object, …): the key points at something that is gone.
#   Measured on 1.108.7: a key generated for a team id that does not exist gets 404
#   {"error": {"message": "{'error': \"Team doesn't exist in db. Team=…\"}", "type": "auth_error",
#   "param": "None", "code": "404"}} and the upstream receives nothing.
#   Not a refusal: 400 auth_error (e.g. "Multiple teams found with alias", a malformed model in a
#   routing decision) is a bad request; 400/429 budget_exceeded is spend, not access;
#   no_db_connection is the proxy failing. Caveat: 1.82.3's team and access-group lookups also
#   turn a failed database read into that 404; the harness's own database makes that unlikely.
REFUSALS: tuple[Refusal, ...] = (
    Refusal(401),
    Refusal(403),
    Refusal(404, frozenset({"auth_error"})),
)
