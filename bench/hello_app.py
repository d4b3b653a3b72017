"""The baseline: a bare FastAPI app with one `async def` route."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    """The smallest useful response."""
    return {"hello": "world"}
