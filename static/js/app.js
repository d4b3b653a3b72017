// Starts GOV.UK Frontend's components (exit this page, skip link, navigation).
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();
