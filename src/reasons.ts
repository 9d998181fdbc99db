// The one list of reasons a login or request is refused or fails: the `reason` of every log line and the
// `detail` of every OAuthError. Each is stable (operators search and alert on them); README
// "Troubleshooting" gives each one's cause and fix, and a test keeps the two in step.
export const REASONS = [
  // The request itself (authorize, token, userinfo)
  "body_not_form", "body_too_large", "param_missing", "param_repeated", "param_too_long", "no_such_endpoint", "method_not_allowed",
  "client_id_missing", "redirect_uri_missing", "unknown_client", "unregistered_redirect_uri",
  "response_type_missing", "response_type_unsupported", "response_mode_unsupported", "openid_scope_missing",
  "state_malformed", "prompt_unknown", "prompt_none_combined", "max_age_malformed",
  "request_object_unsupported", "request_uri_unsupported",
  "pkce_required", "pkce_method_unsupported", "pkce_method_without_challenge", "pkce_challenge_malformed",
  // Client authentication and the code (token)
  "client_auth_missing", "client_auth_malformed", "client_auth_ambiguous", "client_id_mismatch", "client_auth_failed",
  "grant_type_unsupported", "code_unknown", "code_client_mismatch", "redirect_uri_mismatch",
  "pkce_verifier_missing", "pkce_verifier_unexpected", "pkce_verifier_malformed", "pkce_verifier_mismatch",
  // Access tokens (userinfo)
  "access_token_missing", "access_token_ambiguous", "access_token_invalid",
  // The browser's way back from Discord (callback)
  "state_missing", "state_expired", "state_invalid", "state_used", "cookie_missing", "cookie_mismatch", "client_gone",
  // Discord's answer
  "discord:access_denied", "discord:login_required", "discord:error", "discord:duplicate_params", "discord:no_code",
  "discord:rejected", "discord:rate_limited", "discord:unavailable", "discord:timeout", "discord:bad_response",
  // A client's guild or role rule
  "not_in_required_guild", "missing_required_role",
  // The bridge itself
  "code_store_failed", "keys_unavailable", "no_RS256_key", "no_ES256_key", "config_invalid", "issuer_missing", "unexpected_error",
] as const;

export type Reason = (typeof REASONS)[number];
