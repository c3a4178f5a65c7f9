-- Commands written to Redis whose answer was lost (the command timeout
-- answered 504, or the connection broke after they were sent): Redis may
-- have run them, so they bill like answered ones. Before this outcome they
-- were recorded as backend_unavailable, which no plan bills - a tenant could
-- run work unbilled on purpose (issue 11, finding 4).
INSERT INTO meter_outcomes (code, name) VALUES (8, 'sent_unanswered');
-- Every plan that bills answered commands bills these too.
INSERT INTO plan_billable_outcomes (plan_id, outcome)
    SELECT plan_id, 8 FROM plan_billable_outcomes WHERE outcome = 0;
