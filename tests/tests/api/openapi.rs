//! The OpenAPI documents against the deployment: they describe exactly the
//! routes template.yaml deploys. (That every answer of every test conforms to
//! them is checked in `Call::send`.)

use std::collections::BTreeSet;

use integration_tests::contract::contract;

use crate::local_stack::template_routes;

#[test]
fn the_documents_describe_exactly_the_template_routes() {
    let deployed: BTreeSet<(String, String)> = template_routes().into_keys().collect();
    assert_eq!(contract().operations(), deployed);
}
