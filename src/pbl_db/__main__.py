from pbl_db.cli import run

run()
