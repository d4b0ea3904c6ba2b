"""Run once while the backend image is built, in the app's directory: writes the app's initial aerich migration
to ./migrations (aerich's offline mode: no database), under a name that does not change between builds.

The app's start-up (`faceapi.db.init_sql`) runs `aerich init-db` when ./migrations is empty: with an emptyDir
there, every start of every pod wrote a new migration file and a new `aerich` row. With the migrations in the
image, the setup Job applies them (`aerich upgrade`) and the app's own steps find them applied and write nothing;
the directory stays on the read-only root filesystem. A model change in a later app commit then fails the setup
Job (aerich cannot write the new migration) instead of leaving the schema silently behind the models.
"""

import asyncio
import os
from pathlib import Path

# The settings the app's modules read at import: the pods' database backend (components/apps/face_recognition),
# and the model on the CPU (the build has no GPU). Nothing connects to a server.
for name, value in {"SQL_BACKEND": "asyncpg", "ALLOWED_ORIGINS": "[]", "MODEL_LOADER": "onnx",
                    "MODEL_PATH": "model.onnx", "MODEL_DEVICE": "cpu", "LOGURU_LEVEL": "WARNING"}.items():
    os.environ.setdefault(name, value)

from aerich import Command  # noqa: E402
from faceapi.db import TORTOISE_ORM  # noqa: E402

MIGRATIONS = Path("migrations", "models")
STABLE_NAME = "0_kiban_init.py"


async def main() -> None:
    async with Command(tortoise_config=TORTOISE_ORM) as command:
        await command.init_migrations(safe=True)
    (written,) = MIGRATIONS.glob("0_*_init.py")
    written.rename(MIGRATIONS / STABLE_NAME)


asyncio.run(main())
