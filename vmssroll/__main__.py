from vmssroll.cli.app import main

main()
