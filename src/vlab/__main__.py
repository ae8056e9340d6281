from vlab.cli import main

main()
