//! The OpenAPI documents against the deployment: they describe exactly the
//! HTTP routes template.yaml deploys, all but family Z's RPC paths, which are
//! ZITADEL's Connect and gRPC-web protocols (their messages are ZITADEL's
//! protobuf descriptors, not an HTTP API's). That every answer of every test
//! conforms to them is checked in `Call::send`.

use std::collections::BTreeSet;

use integration_tests::contract::contract;

use crate::local_stack::template_routes;

#[test]
fn the_documents_describe_exactly_the_template_routes() {
    let deployed: BTreeSet<(String, String)> = template_routes()
        .into_keys()
        .filter(|(_, path)| !path.starts_with("/zitadel."))
        .collect();
    assert_eq!(contract().operations(), deployed);
}
