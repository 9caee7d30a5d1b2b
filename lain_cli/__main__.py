from lain_cli.cli import main

main()
