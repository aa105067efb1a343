from didvc_cli.main import main

main()
