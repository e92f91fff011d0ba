"""The FastAPI app: lifespan, exception handlers and routers. The logic lives in assist/."""

from assist.app import create_app

app = create_app()
