"""Business logic of the server. Nothing here imports FastAPI or Starlette."""
