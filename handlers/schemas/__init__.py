"""The wire format of the JSON API, declared once with pydantic: request bodies (checked on the way in
by handlers.openapi.api_doc) and responses (for the document). One module per area of the API.

They live in the HTTP layer because they describe requests and answers, not the domain: the services
still check what they are given (a household in eligibility.household is the domain's own model and
is referenced here, not copied)."""
