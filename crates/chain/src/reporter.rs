//! The consensus reporter: every activity goes on to marshal; evidence of equivocation is also
//! handed to the application.

use crate::{application::Application, block::Digest, config::Scheme, evidence};
use bytes::Bytes;
use commonware_actor::Feedback;
use commonware_codec::Encode;
use commonware_consensus::simplex::types::Activity;

/// Forwards every activity to `next` (marshal's inline adapter) and, first, gives the encoding
/// of each conflicting vote pair to [`Application::report_equivocation`].
#[derive(Clone)]
pub(crate) struct Reporter<A, R> {
    app: A,
    next: R,
}

impl<A, R> Reporter<A, R> {
    pub(crate) fn new(app: A, next: R) -> Self {
        Self { app, next }
    }
}

impl<A, R> commonware_consensus::Reporter for Reporter<A, R>
where
    A: Application,
    R: commonware_consensus::Reporter<Activity = Activity<Scheme, Digest>>,
{
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if evidence::is_equivocation(&activity) {
            let encoded: Bytes = activity.encode();
            self.app.report_equivocation(encoded);
        }
        self.next.report(activity)
    }
}
