"""Release tools on top of a built project: status, QA, the CI gate, the review page, the recording script, takes."""
