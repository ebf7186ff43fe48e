//! The store's contract (`integration_tests::store_contract`), each case run
//! twice: on the in-memory twin (`store_contract::twin::`, no emulator, with
//! the other areas' `twin` modules) and on the DynamoDB adapter over the
//! emulator (`store_contract::dynamodb::`).

/// For each case, one test on each store, named after the case.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod twin {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = password_service::store::MemoryStore::new();
                    integration_tests::store_contract::$case(&store).await;
                }
            )*
        }

        /// Every case listed here, to check that none was left out.
        const CASES: &[&str] = &[$(stringify!($case)),*];

        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    let app = integration_tests::spawn_app().await;
                    integration_tests::store_contract::$case(app.services.store.as_ref()).await;
                }
            )*
        }
    };
}

on_both_stores! {
    a_created_user_is_stored_at_sequence_one_with_its_created_event,
    creating_a_user_twice_fails_and_keeps_the_first,
    an_unknown_user_reads_as_none_everywhere,
    the_trail_reads_oldest_first_and_its_latest_newest_first,
    a_replaced_password_steps_the_sequence_and_kills_the_reset_code,
    a_password_write_without_a_session_cut_keeps_the_previous_cut,
    a_password_write_on_a_moved_sequence_is_a_conflict,
    a_password_write_for_an_unknown_user_is_a_conflict,
    a_reset_that_deletes_critical_data_records_two_events_in_one_write,
    a_rehash_replaces_the_hash_without_a_change_of_the_user,
    a_rehash_of_a_moved_hash_or_an_unknown_user_is_a_conflict,
    deleting_critical_data_empties_the_payment_methods_and_marks_when,
    deleting_critical_data_on_a_moved_sequence_is_a_conflict,
    a_pin_is_set_with_its_event_behind_a_window_not_full,
    a_pin_behind_a_full_window_is_limit_reached_before_a_conflict,
    a_pin_on_a_moved_sequence_is_a_conflict,
    an_issued_token_is_the_users_pointer_and_records_who_it_was_issued_to,
    a_new_token_retires_the_previous_one,
    a_token_issued_on_a_stale_read_still_retires_the_previous_one,
    a_user_with_a_password_or_unknown_is_not_eligible_for_a_token,
    only_set_password_tokens_are_found_by_digest,
    the_first_password_set_with_a_live_token_consumes_it,
    a_token_is_live_until_its_expiry_and_found_as_stored_after,
    another_users_token_is_not_live_for_this_one,
    a_token_for_a_user_who_has_a_password_by_now_is_a_conflict,
    a_token_on_a_moved_sequence_is_a_conflict_and_stays_live,
    a_counter_takes_units_up_to_its_limit_and_counts_apart,
    a_unit_given_back_can_be_taken_again_and_a_count_never_goes_below_zero,
    a_window_counts_by_its_key_whatever_its_expiry,
    a_counter_with_a_limit_of_zero_takes_nothing,
    pin_failures_open_a_window_and_count_in_it,
    a_pin_failure_on_a_moved_counter_is_a_conflict,
    an_ended_pin_window_reads_as_zero_and_a_failure_reopens_it,
    the_failure_past_the_limit_deletes_the_critical_data_in_the_same_write,
    the_failure_past_the_limit_on_a_moved_user_writes_nothing,
    pin_failures_cleared_as_seen_are_gone_and_moved_ones_a_conflict,
    clearing_an_ended_pin_window_is_a_conflict,
    an_unlock_clears_the_window_as_a_recorded_change,
    an_unlock_on_a_moved_user_is_a_conflict_and_keeps_the_window,
    an_unlock_on_a_moved_counter_is_a_conflict_and_records_nothing,
    a_pin_digest_is_replaced_as_it_was_read_without_a_change_of_the_user,
    a_new_reset_code_replaces_the_previous_one_and_its_tries,
    a_reset_code_on_a_moved_sequence_is_a_conflict,
    reset_state_reads_the_user_their_code_as_stored_and_the_window,
    the_right_code_replaces_the_password_and_is_consumed,
    a_wrong_expired_or_exhausted_code_is_not_live_and_writes_nothing,
    the_current_password_replaces_the_password_and_kills_the_code,
    a_proof_behind_a_full_window_is_limit_reached_before_anything_else,
    a_proof_on_a_moved_sequence_is_a_conflict_and_keeps_the_code,
    a_wrong_secret_counts_in_the_window_and_on_a_live_code,
    a_wrong_secret_against_a_dead_or_absent_code_still_counts,
    a_wrong_secret_in_a_full_window_is_limit_reached_and_counts_nothing,
    an_enrolment_is_pending_until_its_expiry_as_a_recorded_change,
    a_new_enrolment_replaces_the_pending_one,
    an_enrolment_behind_a_full_window_or_on_a_moved_user_is_refused,
    activation_makes_the_enrolment_the_device_and_consumes_it,
    an_expired_enrolment_is_not_pending_and_a_moved_user_is_a_conflict_first,
    removing_the_device_removes_a_pending_enrolment_with_it,
    a_removal_behind_a_full_window_or_on_a_moved_user_is_refused,
    a_right_code_moves_the_accepted_step_without_a_change_of_the_user,
    a_code_at_or_before_the_last_accepted_step_is_a_replay,
    a_right_code_clears_the_failures_it_saw_and_no_others,
    a_right_code_for_a_device_replaced_or_not_read_is_a_conflict,
}

#[test]
fn every_contract_case_runs_on_both_stores() {
    integration_tests::assert_every_contract_case_listed("store_contract.rs", CASES);
}
