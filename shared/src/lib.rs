//! The password service's shared crate: the domain and its rules, the ports
//! and their AWS adapters, the three error families, and the wiring every
//! function's `main` uses. Layers, lowest first; a module uses only those
//! below it:
//!
//! | layer | modules |
//! |---|---|
//! | leaves | `clock`, `env_file`, `domain` (types, policy, secrets at rest), `config`, `metrics` |
//! | components | `auth`, `hashing`, `rate_limit`, `mail`, `store` |
//! | the service | `error`, `services`, `flows` (one file per operation) |
//! | boundary | `http` (request parsing, the families' renderers) |
//! | wiring | `aws`, `lambda`, `telemetry` |

pub mod auth;
pub mod aws;
pub mod clock;
pub mod config;
pub mod domain;
pub mod env_file;
pub mod error;
pub mod flows;
pub mod hashing;
pub mod http;
pub mod jwks;
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod rate_limit;
pub mod secrets;
pub mod services;
pub mod store;
pub mod telemetry;
