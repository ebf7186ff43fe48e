// What the JavaScript tests (tests/browser, tests/clients/node, tests/issuer)
// share about the stack they run against. Node's own modules only: each of
// those folders installs its own packages.

// The scope an admin's token carries for O1. The service's own value is a
// constant (shared/src/auth.rs, SCOPE_RESET_PASSWORD), not a setting, so
// local.env does not carry it; scripts/local_env.py holds the same for the
// Python scripts.
export const ADMIN_SCOPE = "users:resetPassword";

/** The id of a user created by `pwctl user create --email EMAIL OPTIONS…`
 * (e.g. "--password", "…"), run by the caller's `pwctl`: a function of
 * pwctl's arguments that returns its standard output, and throws where pwctl
 * failed. */
export const createUser = (pwctl, email, ...options) =>
  JSON.parse(pwctl("user", "create", "--email", email, ...options)).userId;
