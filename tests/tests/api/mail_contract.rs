//! The mailer's contract (`integration_tests::mail_contract`), each case run
//! twice: on the in-memory twin (`mail_contract::twin::`, no emulator) and on
//! the SES v2 adapter over the emulator (`mail_contract::ses::`).

/// For each case, one test on each mailer, named after the case.
macro_rules! on_both_mailers {
    ($($case:ident),* $(,)?) => {
        mod twin {
            $(
                #[tokio::test]
                async fn $case() {
                    let app = integration_tests::spawn_twin().await;
                    integration_tests::mail_contract::$case(&app).await;
                }
            )*
        }

        /// Every case listed here, to check that none was left out.
        const CASES: &[&str] = &[$(stringify!($case)),*];

        mod ses {
            $(
                #[tokio::test]
                async fn $case() {
                    let app = integration_tests::spawn_app().await;
                    integration_tests::mail_contract::$case(&app).await;
                }
            )*
        }
    };
}

on_both_mailers! {
    a_sent_mail_reaches_its_address_alone_from_the_configured_sender,
    mails_to_one_address_read_oldest_first,
    text_beyond_ascii_and_references_arrive_as_written,
    a_send_the_provider_refuses_is_an_error_and_delivers_nothing,
    each_send_is_counted_as_sent_or_failed,
}

#[test]
fn every_contract_case_runs_on_both_mailers() {
    integration_tests::assert_every_contract_case_listed("mail_contract.rs", CASES);
}
