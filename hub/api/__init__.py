"""What every app's REST API shares: the error shape and its exception handler, pagination,
strict serializers, throttling, the schema's error component, and the rule that an object
you may not see answers 404. Apps build their endpoints in `<app>/api/` on these; like the
rest of `hub`, nothing here imports an app."""
