from charvoice.cli import main

main()
