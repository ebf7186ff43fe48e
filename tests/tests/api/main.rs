//! The integration tests: one binary, black-box over the handlers, against
//! the emulator (`make test` starts it and sets its address). Each module
//! covers one area; every endpoint is reached through the callers of
//! `integration_tests::TestApp`.

mod admin_reset;
mod authentication;
mod device_otp;
mod failures;
mod family_z;
mod family_z_rpc;
mod local_stack;
mod logs;
mod mail;
mod mail_contract;
mod metrics;
mod openapi;
mod operator;
mod pin_recovery;
mod rate_limits;
mod secrets;
mod set_password_flow;
mod set_password_page;
mod store_contract;
