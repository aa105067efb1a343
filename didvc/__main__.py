from didvc.cli import main

main()
