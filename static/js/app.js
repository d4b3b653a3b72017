// Starts GOV.UK Frontend's components (skip link, navigation, error summaries, buttons).
// "Exit this page" is handled by exit.js, which leaves no entry in the back history.
import {
  Button, ErrorSummary, NotificationBanner, ServiceNavigation, SkipLink, createAll,
} from "/static/govuk/govuk-frontend.min.js";

for (const Component of [Button, ErrorSummary, NotificationBanner, ServiceNavigation, SkipLink]) {
  createAll(Component);
}
