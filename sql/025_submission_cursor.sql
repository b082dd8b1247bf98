-- The API's submission list pages newest first by (created_at, id), its
-- cursor naming the last row of a page (issue 16); this index serves that
-- order and the row comparison the next page starts from.
CREATE INDEX submissions_created ON submissions (created_at DESC, id DESC);
