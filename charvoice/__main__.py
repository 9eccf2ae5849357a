from charvoice.cli.main import main

main()
