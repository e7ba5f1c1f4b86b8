//! Uses the library crates as a dependent project would, without sending
//! anything: builds a facade client, a sandbox configuration and a raw
//! request body.

use copper_bulk::{Config, Copper, PersonUpdate};
use copper_bulk_raw::types::PeopleBulkUpdateRequest;

fn main() {
    let config = Config::new("token", "me@example.com").expect("valid credentials");
    let copper = Copper::new(config).expect("a client");
    println!("would send to {}", copper.config().base_url());
    let sandbox = copper_bulk_sandbox::SandboxConfig::new();
    println!("a sandbox would accept {}", sandbox.user_email());

    let body = PeopleBulkUpdateRequest {
        people: vec![PersonUpdate::new(12345).clear_title()],
    };
    println!("{}", serde_json::to_string(&body).expect("serializable"));
}
